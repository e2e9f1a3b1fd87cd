/* keys: placeholder so the archive is not empty. */
typedef int keys_placeholder_t;
