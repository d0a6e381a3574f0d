from loadmon.cli import main

main()
