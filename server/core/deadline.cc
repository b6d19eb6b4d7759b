#include "server/core/deadline.h"
