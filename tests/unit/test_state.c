/* Frame state buffers, polylines, the live-field analysis and app_run's early-end rule. */
#include <string.h>

#include "app.h"
#include "check.h"
#include "es_err.h"

enum { F_IMG, F_MASK, F_PTS, F_NUM, F_COUNT };

static const struct field_def fields[] = {
    {"img", FIELD_IMAGE}, {"mask", FIELD_MASK}, {"pts", FIELD_POINTS}, {"num", FIELD_NUMBERS}};

static unsigned ran[8];

static enum es_err s0(struct stage_io *io)
{
    ran[0]++;
    return state_put_image(io->st, F_IMG, 4, 3, 3) ? ES_OK : ES_ENOMEM;
}

static enum es_err s1(struct stage_io *io)
{
    ran[1]++;
    io->st->flags |= STATE_ENDED; /* ends the frame early */
    return ES_OK;
}

static enum es_err s2(struct stage_io *io)
{
    (void)io;
    ran[2]++;
    return ES_OK;
}

static enum es_err s3(struct stage_io *io)
{
    (void)io;
    ran[3]++;
    return ES_OK;
}

static enum es_err fail(struct stage_io *io)
{
    (void)io;
    return ES_ECV;
}

static const struct stage_def stages[] = {
    {"make", s0, 0, 0, FIELD_BIT(F_IMG)},
    {"end", s1, FIELD_BIT(F_IMG), 0, FIELD_BIT(F_MASK)},
    {"skip", s2, FIELD_BIT(F_MASK), FIELD_BIT(F_IMG), FIELD_BIT(F_PTS) | FIELD_BIT(F_IMG)},
    {"last", s3, FIELD_BIT(F_PTS), FIELD_BIT(F_IMG), 0},
};

static const struct app mini = {"mini", fields, F_COUNT, stages, 4, NULL, {0, 0, 0}};

static void test_buffers(void)
{
    struct state st;
    state_init(&st, &mini);
    CHECK(state_image(&st, F_IMG) == NULL);
    struct image *img = state_put_image(&st, F_IMG, 10, 10, 3);
    CHECK(img != NULL);
    uint8_t *first = img->data;
    state_reset(&st);
    CHECK(state_image(&st, F_IMG) == NULL);
    img = state_put_image(&st, F_IMG, 5, 5, 3);
    CHECK(img && img->data == first);                     /* smaller frame reuses the buffer */
    CHECK(state_put_image(&st, F_MASK, 5, 5, 3) == NULL); /* a mask has one channel */
    CHECK(state_put_image(&st, F_IMG, 0, 5, 3) == NULL);
    CHECK(state_put_image(&st, F_IMG, STATE_MAX_DIM + 1, 5, 3) == NULL);
    CHECK(state_put_image(&st, F_PTS, 5, 5, 1) == NULL); /* wrong type */
    CHECK(state_put_image(&st, 9, 5, 5, 1) == NULL);     /* no such field */
    CHECK(state_put_numbers(&st, F_NUM, STATE_MAX_NUMBERS + 1) == NULL);
    struct numbers *n = state_put_numbers(&st, F_NUM, 3);
    CHECK(n && n->count == 3 && n->v[2] == 0);
    state_release(&st);
}

static void test_polylines(void)
{
    struct state st;
    state_init(&st, &mini);
    struct polylines *pl = state_put_polylines(&st, F_PTS, 0, 0);
    CHECK(pl != NULL);
    struct point pts[100];
    for (int i = 0; i < 100; i++)
        pts[i] = (struct point){i, -i};
    for (uint32_t i = 0; i < 40; i++)
        CHECK_EQ_INT(polylines_add(pl, pts, i % 7 == 0 ? 0 : 100 - i), ES_OK);
    CHECK_EQ_INT(pl->count, 40);
    uint32_t total = 0;
    for (uint32_t i = 0; i < 40; i++) {
        uint32_t n = pl->start[i + 1] - pl->start[i];
        CHECK_EQ_INT(n, i % 7 == 0 ? 0 : 100 - i);
        if (n)
            CHECK_EQ_INT(pl->pts[pl->start[i] + n - 1].y, -(int)(n - 1));
        total += n;
    }
    CHECK_EQ_INT(pl->total, total);
    const struct polylines *ro = state_polylines(&st, F_PTS);
    CHECK(ro == pl);
    state_release(&st);
}

static void test_live_fields(void)
{
    CHECK_EQ_INT(app_live_fields(&mini, 0, false), 0);
    CHECK_EQ_INT(app_live_fields(&mini, 1, false), FIELD_BIT(F_IMG));
    CHECK_EQ_INT(app_live_fields(&mini, 2, false), FIELD_BIT(F_MASK));
    CHECK_EQ_INT(app_live_fields(&mini, 2, true), FIELD_BIT(F_MASK) | FIELD_BIT(F_IMG));
    CHECK_EQ_INT(app_live_fields(&mini, 3, false), FIELD_BIT(F_PTS));
    CHECK_EQ_INT(app_live_fields(&mini, 3, true), FIELD_BIT(F_PTS) | FIELD_BIT(F_IMG));
    CHECK_EQ_INT(app_live_fields(&mini, 4, false), 0);
}

static void test_run(void)
{
    struct state st;
    state_init(&st, &mini);
    struct stage_io io = {.st = &st};
    memset(ran, 0, sizeof ran);
    CHECK_EQ_INT(app_run(&io, 0, 4, NULL, NULL), ES_OK);
    /* stage 1 ended the frame: stage 2 is skipped, the last stage still runs */
    CHECK_EQ_INT(ran[0], 1);
    CHECK_EQ_INT(ran[1], 1);
    CHECK_EQ_INT(ran[2], 0);
    CHECK_EQ_INT(ran[3], 1);
    CHECK_EQ_INT(app_run(&io, 3, 5, NULL, NULL), ES_EINVAL);

    static const struct stage_def bad_stages[] = {{"fail", fail, 0, 0, 0}, {"last", s3, 0, 0, 0}};
    static const struct app bad = {"bad", fields, F_COUNT, bad_stages, 2, NULL, {0, 0, 0}};
    struct state st2;
    state_init(&st2, &bad);
    io.st = &st2;
    memset(ran, 0, sizeof ran);
    CHECK_EQ_INT(app_run(&io, 0, 2, NULL, NULL), ES_ECV);
    CHECK_EQ_INT(ran[3], 0); /* an error stops the run */
    state_release(&st);
    state_release(&st2);
}

static void test_errors(void)
{
    CHECK(strcmp(es_strerror(ES_OK), "success") == 0);
    CHECK(strcmp(es_errname(ES_ETRUNC), "ETRUNC") == 0);
    CHECK(strcmp(es_strerror((enum es_err)999), "unknown error") == 0);
}

int main(void)
{
    test_buffers();
    test_polylines();
    test_live_fields();
    test_run();
    test_errors();
    return check_exit();
}
