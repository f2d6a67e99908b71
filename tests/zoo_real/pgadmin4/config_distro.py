# pgAdmin 4 settings for the zoo (loaded through CONFIG_DISTRO_FILE_PATH); everything else is the default.
import os

_W = os.environ["ZOO_PGADMIN_DIR"]
SERVER_MODE = True
DATA_DIR = _W
LOG_FILE = os.path.join(_W, "pgadmin4.log")
SQLITE_PATH = os.path.join(_W, "pgadmin4.db")
SESSION_DB_PATH = os.path.join(_W, "sessions")
STORAGE_DIR = os.path.join(_W, "storage")
AZURE_CREDENTIAL_CACHE_DIR = os.path.join(_W, "azurecredentialcache")
KERBEROS_CCACHE_DIR = os.path.join(_W, "kerberoscache")
DEFAULT_SERVER = "127.0.0.1"
DEFAULT_SERVER_PORT = int(os.environ.get("ZOO_PORT", "5050"))
UPGRADE_CHECK_ENABLED = False
