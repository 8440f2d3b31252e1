# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection and authentication options shared by every module."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the control plane's REST API.
      - If not set, the environment variable E(MESHFABRIC_URL) is used.
    type: str
    default: http://127.0.0.1:5681
  token:
    description:
      - Bearer token sent in the C(Authorization) header.
      - If not set, the environment variable E(MESHFABRIC_TOKEN) is used.
      - Mutually exclusive with O(token_file).
    type: str
  token_file:
    description:
      - Path of a file holding the bearer token, such as the C(admin-token) file
        the control plane writes into its data directory on first start.
      - If not set, the environment variable E(MESHFABRIC_TOKEN_FILE) is used.
      - Mutually exclusive with O(token).
    type: path
  validate_certs:
    description:
      - Whether to verify the control plane's TLS certificate.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: int
    default: 30
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait until the condition described for this module holds.
      - Skipped in check mode.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait before the task fails when O(wait=true).
    type: int
    default: 120
"""

    # The same options for lookup plugins, which also read them from the
    # environment through Ansible's configuration system.
    PLUGIN = r"""
options:
  url:
    description: Base URL of the control plane's REST API.
    type: str
    default: http://127.0.0.1:5681
    env:
      - name: MESHFABRIC_URL
  token:
    description: Bearer token. Mutually exclusive with O(token_file).
    type: str
    env:
      - name: MESHFABRIC_TOKEN
  token_file:
    description: Path of a file holding the bearer token.
    type: path
    env:
      - name: MESHFABRIC_TOKEN_FILE
  validate_certs:
    description: Whether to verify the control plane's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each HTTP response.
    type: int
    default: 30
"""
