from laoke.cli import main

main()
