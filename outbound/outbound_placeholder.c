/* outbound: placeholder so the archive is not empty. */
typedef int outbound_placeholder_t;
