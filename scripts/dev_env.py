"""Write ./var/dev.env once: development keys and paths for `make run` and `make up`.

Keys are generated fresh on each machine and kept, so stored credentials stay readable
across runs. Delete ./var to start over.
"""

from pathlib import Path

from cryptography.fernet import Fernet

from shared.encryption import generate_master_key

VAR = Path("var")
ENV_FILE = VAR / "dev.env"


def main() -> None:
    for folder in ("staging", "volumes/local", "log", "run"):
        (VAR / folder).mkdir(parents=True, exist_ok=True)
    if ENV_FILE.exists():
        _add_missing(ENV_FILE.read_text())
        return
    lines = [
        "# Generated once by `make env`; development only. Delete ./var to regenerate.",
        f"SEAL_KEY={Fernet.generate_key().decode()}",
        f"API_CREDENTIALS_KEY={Fernet.generate_key().decode()}",
        f"DUMPER_MASTER_KEYS={generate_master_key('dev')}",  # encryption at rest
        f"STAGING_PATH={(VAR / 'staging').resolve()}",
        "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/databasement",
        "BROKER_URL=amqp://guest:guest@127.0.0.1:5672/",
        "PYTHONUNBUFFERED=1",
    ]
    ENV_FILE.write_text("\n".join(lines) + "\n")
    ENV_FILE.chmod(0o600)
    print(f"dev_env: wrote {ENV_FILE} with fresh development keys")


def _add_missing(existing: str) -> None:
    """Settings added since the file was written get a value; existing keys are kept."""
    names = {line.split("=", 1)[0] for line in existing.splitlines() if "=" in line}
    added = []
    if "DUMPER_MASTER_KEYS" not in names:  # encryption at rest
        added.append(f"DUMPER_MASTER_KEYS={generate_master_key('dev')}")
    if added:
        with ENV_FILE.open("a") as handle:
            handle.write("\n".join(added) + "\n")
        print(f"dev_env: added {', '.join(a.split('=', 1)[0] for a in added)} to {ENV_FILE}")


if __name__ == "__main__":
    main()
