#include "server/core/catalogue.h"
