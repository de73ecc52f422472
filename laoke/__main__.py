from laoke.cli import main

if __name__ == "__main__":  # not when a child process (the rebuild's reader) imports it
    main()
