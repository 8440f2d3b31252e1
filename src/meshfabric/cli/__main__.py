"""`python -m meshfabric.cli`, the same as the meshctl script."""

from meshfabric.cli.main import main

main()
