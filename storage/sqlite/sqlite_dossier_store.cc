#include "storage/sqlite/sqlite_dossier_store.h"
