"""Where the config is looked for: the names the CLI needs before it reads one.

Apart from ``runtime.config`` so that starting the CLI (``--help``, ``--version``, option
defaults) does not import the claim model and the settings validators behind it.
"""

DEFAULT_CONFIG_NAME = "bhclaims.toml"
DATABASE_URL_ENV = "BHCLAIMS_DATABASE_URL"
