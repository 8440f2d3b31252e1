from meshfabric.lab.cli import main

main()
