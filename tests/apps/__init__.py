"""Small fixture web apps built on real frameworks, started as real servers by the scanner's tests."""
