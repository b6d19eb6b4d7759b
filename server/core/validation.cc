#include "server/core/validation.h"
