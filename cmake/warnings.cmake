# es_options: an INTERFACE target every project target links to. It carries the warning set
# and, with -DES_SANITIZE=ON, AddressSanitizer and UndefinedBehaviorSanitizer.
add_library(es_options INTERFACE)
target_compile_options(es_options INTERFACE -Wall -Wextra -Werror
  $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes -Wmissing-prototypes>)
target_compile_definitions(es_options INTERFACE _POSIX_C_SOURCE=200809L)
if(ES_SANITIZE)
  target_compile_options(es_options INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(es_options INTERFACE -fsanitize=address,undefined)
endif()
