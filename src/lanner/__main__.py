from lanner.cli import main

main()
