/* Plugins that the programs must refuse, one per BROKEN_* macro (CMakeLists.txt here builds
 * each as broken_<kind>.so); test_plugin checks that each gives one line and exit status 2. */
#include "app.h"

static enum es_err produce(struct stage_io *io)
{
#ifdef BROKEN_undef
    /* An undefined function: the loader's RTLD_NOW fails on it. */
    extern int es_function_that_does_not_exist(void);
    if (es_function_that_does_not_exist())
        return ES_EINVAL;
#endif
    struct numbers *n = state_put_numbers(io->st, 0, 1);
    return n ? ES_OK : ES_EINVAL;
}

static enum es_err finish(struct stage_io *io)
{
    io->result = json_object();
    return io->result ? ES_OK : ES_ENOMEM;
}

#if !defined(BROKEN_reads)
static const struct field_def fields[] = {{"value", FIELD_NUMBERS}};
#endif

static const struct stage_def stages[] = {
    {"produce", produce, 0, 0, FIELD_BIT(0)},
#if defined(BROKEN_mask)
    {"finish", finish, FIELD_BIT(0) | FIELD_BIT(5), 0, 0}, /* field 5 is not declared */
#elif defined(BROKEN_reads)
    {"finish", finish, FIELD_BIT(0), 0, 0},
    {"again", finish, FIELD_BIT(1), 0, 0}, /* nothing writes field 1 */
#else
    {"finish", finish, FIELD_BIT(0), 0, 0},
#endif
};

#if defined(BROKEN_reads)
static const struct field_def more_fields[] = {{"value", FIELD_NUMBERS}, {"other", FIELD_NUMBERS}};
#endif

static const struct app broken_app = {
#if defined(BROKEN_name)
    .name = "Bad-Name",
#elif defined(BROKEN_clash)
    .name = "ball",                        /* a built-in application's name */
#else
    .name = "broken",
#endif
#if defined(BROKEN_reads)
    .fields = more_fields,
    .nfields = 2,
#else
    .fields = fields,
    .nfields = 1,
#endif
    .stages = stages,
#if defined(BROKEN_nostages)
    .nstages = 0,
#else
    .nstages = sizeof stages / sizeof stages[0],
#endif
};

#if defined(BROKEN_abi)
__attribute__((visibility("default"))) const struct es_plugin edgesplit_plugin = {
    ES_PLUGIN_ABI + 1, (uint32_t)sizeof(struct app), &broken_app};
#elif defined(BROKEN_nosym)
/* Exports the table under another name. */
__attribute__((visibility("default")))
const struct es_plugin other_plugin = {ES_PLUGIN_ABI, (uint32_t)sizeof(struct app), &broken_app};
#else
ES_PLUGIN(broken_app);
#endif
