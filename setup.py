"""The wheel carries what the robot reads besides its code, without moving the repository's folders:
flows/, selectors/, config/ and schema/ land in the wheel as robots/_data/<folder>/ (never as a top-level
`selectors` package, which would shadow the standard library's module); the mock portal and its demo data are
the `fixtures` package. At run time robots/config.py `packaged()` says where they are, checkout or wheel.
Everything else about the project is in pyproject.toml."""

from setuptools import find_packages, setup

DATA_FOLDERS = ("flows", "selectors", "config", "schema", "examples")  # examples: `init`'s roster
DATA_FILES = ["*.yaml", "**/*.yaml", "*.json", "*.md"]
MOCK_PORTAL_FILES = ["*.yaml", "*.html", "*.css", "*.js", "*.json", "templates/**/*", "static/**/*"]

setup(
    packages=[
        *find_packages(include=["robots", "robots.*", "fixtures", "fixtures.*"]),
        *(f"robots._data.{folder}" for folder in DATA_FOLDERS),
    ],
    package_dir={f"robots._data.{folder}": folder for folder in DATA_FOLDERS},
    package_data={
        **{f"robots._data.{folder}": DATA_FILES for folder in DATA_FOLDERS},
        "fixtures": MOCK_PORTAL_FILES,
        "fixtures.mock_portal": MOCK_PORTAL_FILES,
    },
)
