/* store: placeholder so the archive is not empty. */
typedef int store_placeholder_t;
