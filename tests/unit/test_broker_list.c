/* Broker lists as users write them (--host), and the URIs made of them. */
#include <string.h>

#include "broker_list.h"
#include "check.h"

static void expect_uris(const char *spec, bool tls, const char *want)
{
    struct broker_addr a[BROKER_LIST_MAX];
    int n = 0;
    char got[1024] = "", uri[300];
    CHECK_EQ_INT(broker_list_parse(spec, 1883, a, BROKER_LIST_MAX, &n), ES_OK);
    for (int i = 0; i < n; i++) {
        broker_uri(&a[i], tls, uri, sizeof uri);
        strcat(got, i ? "," : "");
        strcat(got, uri);
    }
    CHECK(strcmp(got, want) == 0);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "  %s gave %s, not %s\n", spec, got, want);
}

int main(void)
{
    expect_uris("localhost", false, "tcp://localhost:1883");
    expect_uris("127.0.0.1:2000", true, "ssl://127.0.0.1:2000");
    expect_uris("h1:1,h2,h3:3", false, "tcp://h1:1,tcp://h2:1883,tcp://h3:3");
    expect_uris("::1", false, "tcp://[::1]:1883");
    expect_uris("[::1]:8883,broker.example_1", true,
                "ssl://[::1]:8883,ssl://broker.example_1:1883");
    const char *bad[] = {"",       ",",   "h1,", "h:0",     "h:65536", "h:x", "[::1",   "[::1]x",
                         "[::1]:", "a/b", "a b", "tcp://h", "h:1:2x",  "h#",  "h1,,h2", NULL};
    for (int i = 0; bad[i]; i++) {
        struct broker_addr a[BROKER_LIST_MAX];
        int n = 77;
        CHECK_EQ_INT(broker_list_parse(bad[i], 1883, a, BROKER_LIST_MAX, &n), ES_EINVAL);
        CHECK_EQ_INT(n, 77);
    }
    struct broker_addr a[2];
    int n;
    CHECK_EQ_INT(broker_list_parse("a,b,c", 1883, a, 2, &n), ES_ELIMIT);
    CHECK_EQ_INT(broker_list_parse(NULL, 1883, a, 2, &n), ES_EINVAL);
    return check_exit();
}
