import subprocess
import sys


def test_scoring_imports_neither_flask_nor_sqlalchemy_nor_network_clients() -> None:
    code = (
        "import sys, scoring, scoring.cli, scoring.evidence;"
        "bad = {'flask', 'sqlalchemy', 'requests', 'redis', 'psycopg', 'bot'} & set(sys.modules);"
        "print(sorted(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
