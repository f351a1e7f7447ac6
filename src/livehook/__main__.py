from livehook.cli import main

main()
