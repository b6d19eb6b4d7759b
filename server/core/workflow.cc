#include "server/core/workflow.h"
