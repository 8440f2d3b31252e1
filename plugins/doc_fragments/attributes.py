# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Attributes every module of the collection shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  action_group:
    description: >-
      Use C(group/meshfabric.mesh.mesh) in C(module_defaults) to set the
      connection options once.
    support: full
    membership:
      - meshfabric.mesh.mesh
"""

    # Modules that only read.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    description: Reads only; runs the same in check mode, without waiting.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
"""
