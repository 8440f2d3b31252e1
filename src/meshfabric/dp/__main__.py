from meshfabric.dp.cli import main

main()
