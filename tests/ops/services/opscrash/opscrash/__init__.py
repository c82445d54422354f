"""Stand-in Nameko service that dies on its own shortly after starting."""
