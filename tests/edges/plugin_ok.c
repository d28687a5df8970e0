/* Must compile: the allowed edge, a plugin including its ABI header. */
#include "nexus_plugin.h"
int nx_edge_ok_plugin(void);
int nx_edge_ok_plugin(void)
{
    return NEXUS_PLUGIN_ABI_MAJOR;
}
