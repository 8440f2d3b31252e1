from meshfabric.cp.cli import main

main()
