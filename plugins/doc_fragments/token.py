# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Options shared by the token modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state:
    description:
      - V(present) issues a new token (every run issues another one, so the
        task always reports a change).
      - V(absent) revokes the token given by O(revoke_token) or O(token_id).
    type: str
    choices: [present, absent]
    default: present
  valid_for:
    description: Lifetime of a new token, such as C(24h) or C(8760h).
    type: str
  revoke_token:
    description: The token to revoke; its JWT id is read from it.
    type: str
  token_id:
    description: The JWT id (C(jti)) of the token to revoke.
    type: str
notes:
  - The issued token is in the task result; set C(no_log=true) on the task
    to keep it out of the output.
attributes:
  check_mode:
    description: Issues nothing; a revocation is validated with a dry run and not written.
    support: full
  diff_mode:
    description: Shows the revocation list before and after a revocation.
    support: full
"""
