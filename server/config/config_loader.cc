#include "server/config/config_loader.h"
