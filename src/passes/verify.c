/* placeholder */
typedef int af_placeholder_t;
