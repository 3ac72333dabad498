"""Job kinds: each module here registers one handler."""
