/* ntadns: placeholder so the archive is not empty. */
typedef int ntadns_placeholder_t;
