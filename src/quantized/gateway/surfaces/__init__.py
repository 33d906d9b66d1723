"""The model APIs the gateway serves, each a parser in and a translator out (see ``base``)."""
