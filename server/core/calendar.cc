#include "server/core/calendar.h"
