#include "es_err.h"

const char *es_strerror(enum es_err err)
{
    static const char *const text[] = {
#define ES_ERR_TEXT(name, str) str,
        ES_ERRORS(ES_ERR_TEXT)
#undef ES_ERR_TEXT
    };
    if ((unsigned)err >= ES_ERR_COUNT)
        return "unknown error";
    return text[err];
}

const char *es_errname(enum es_err err)
{
    static const char *const names[] = {
#define ES_ERR_NAME(name, str) #name,
        ES_ERRORS(ES_ERR_NAME)
#undef ES_ERR_NAME
    };
    if ((unsigned)err >= ES_ERR_COUNT)
        return "EUNKNOWN";
    return names[err];
}
