/* The project's one error enum. ES_OK (0) is success; every other value names a failure that
 * es_strerror() describes in a short phrase and es_errname() names in a stable, greppable id. */
#ifndef ES_ERR_H
#define ES_ERR_H

#define ES_ERRORS(X)                                                                               \
    X(OK, "success")                                                                               \
    X(EINVAL, "invalid argument")                                                                  \
    X(ENOMEM, "out of memory")                                                                     \
    X(ETRUNC, "message truncated")                                                                 \
    X(EMAGIC, "bad magic")                                                                         \
    X(EVERSION, "unsupported wire version")                                                        \
    X(EAPP, "unknown application")                                                                 \
    X(ELIMIT, "size limit exceeded")                                                               \
    X(EFORMAT, "malformed message")                                                                \
    X(EIO, "input/output error")                                                                   \
    X(ECONNECT, "cannot connect")                                                                  \
    X(EMQTT, "MQTT error")                                                                         \
    X(ESOURCE, "frame source failed")                                                              \
    X(EEOF, "end of stream")                                                                       \
    X(ETIMEDOUT, "timed out")                                                                      \
    X(ECV, "image processing failed")                                                              \
    X(EJSON, "JSON error")                                                                         \
    X(EFULL, "queue full")                                                                         \
    X(ESTOPPED, "stopped")

enum es_err {
#define ES_ERR_ENUM(name, text) ES_##name,
    ES_ERRORS(ES_ERR_ENUM)
#undef ES_ERR_ENUM
        ES_ERR_COUNT
};

/* Returns a short lowercase description of err ("message truncated"); never NULL. */
const char *es_strerror(enum es_err err);

/* Returns the enum's name without prefix ("ETRUNC"); never NULL. */
const char *es_errname(enum es_err err);

#endif
