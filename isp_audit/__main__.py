from .cli import main

# Guarded: a portfolio's --jobs workers are spawned processes, which import this module as __mp_main__.
if __name__ == "__main__":
    main()
