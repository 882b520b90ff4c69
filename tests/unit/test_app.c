/* Unit: app_check accepts the built-in applications and refuses broken tables, one fault at a
 * time, naming the fault; app_open resolves names and refuses unknown ones. */
#include <string.h>

#include "app.h"
#include "check.h"
#include "registry.h"

static enum es_err nop(struct stage_io *io)
{
    (void)io;
    return ES_OK;
}

static const struct field_def fields[] = {{"a", FIELD_IMAGE}, {"b", FIELD_NUMBERS}};

static void expect_bad(const struct app *app, const char *says)
{
    char why[200] = "";
    CHECK(!app_check(app, why, sizeof why));
    CHECK(strstr(why, says) != NULL);
    if (!strstr(why, says))
        printf("expected '%s', got '%s'\n", says, why);
}

int main(void)
{
    char why[200];
    for (const struct app *const *a = app_all(); *a; a++) {
        bool ok = app_check(*a, why, sizeof why);
        if (!ok)
            printf("%s: %s\n", (*a)->name, why);
        CHECK(ok);
    }
    struct stage_def st[3] = {
        {"make", nop, 0, 0, FIELD_BIT(0)},
        {"use", nop, FIELD_BIT(0), 0, FIELD_BIT(1)},
        {"end", nop, FIELD_BIT(1), FIELD_BIT(0), 0},
    };
    struct app good = {.name = "good", .fields = fields, .nfields = 2, .stages = st, .nstages = 3};
    CHECK(app_check(&good, why, sizeof why));

    struct app a = good;
    a.name = "x-y";
    expect_bad(&a, "no valid name");
    a.name = "abcdefghijklmnopqrstuvwxyz0123456"; /* 33 characters */
    expect_bad(&a, "no valid name");
    a = good;
    a.nstages = 1;
    expect_bad(&a, "1 stages");
    a.nstages = STATE_MAX_STAGES + 1;
    expect_bad(&a, "17 stages");
    a = good;
    a.nfields = 0;
    expect_bad(&a, "0 fields");
    a = good;
    a.nfields = 1; /* stage "use" writes field 1, now undeclared */
    expect_bad(&a, "beyond its 1 fields");
    struct field_def twice[] = {{"a", FIELD_IMAGE}, {"a", FIELD_NUMBERS}};
    a = good;
    a.fields = twice;
    expect_bad(&a, "two fields are named 'a'");
    struct field_def badtype[] = {{"a", FIELD_IMAGE}, {"b", (enum field_type)9}};
    a.fields = badtype;
    expect_bad(&a, "unknown type 9");
    struct stage_def st2[3];
    memcpy(st2, st, sizeof st);
    a = good;
    a.stages = st2;
    st2[0].reads = FIELD_BIT(1);
    expect_bad(&a, "the first stage 'make' reads");
    memcpy(st2, st, sizeof st);
    st2[1].reads = FIELD_BIT(1); /* read before anything writes it */
    expect_bad(&a, "'use' reads field bits 0x2");
    memcpy(st2, st, sizeof st);
    st2[2].run = NULL;
    expect_bad(&a, "'end' has no function");
    memcpy(st2, st, sizeof st);
    st2[1].name = NULL;
    expect_bad(&a, "stage 1 has no valid name");
    a = good;
    a.limits.max_width = STATE_MAX_DIM + 1;
    expect_bad(&a, "limits beyond");
    CHECK(!app_check(NULL, why, sizeof why));

    const struct app *found;
    CHECK_EQ_INT(app_open("ball", &found, why, sizeof why), ES_OK);
    CHECK(found == app_find("ball"));
    CHECK_EQ_INT(app_open("nosuch", &found, why, sizeof why), ES_EAPP);
    CHECK(found == NULL && strstr(why, "unknown application 'nosuch'"));
    CHECK(app_spec_is_path("./x.so") && app_spec_is_path("lib.so") && !app_spec_is_path("ball"));
    return check_exit();
}
