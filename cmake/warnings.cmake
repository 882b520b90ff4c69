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

# Hardening, for every build: stack protector, position-independent executables, full RELRO
# (relocations read-only and bound at start), and in optimised builds _FORTIFY_SOURCE=2 (it
# needs optimisation, and the sanitizers replace the functions it checks).
# scripts/check-hardening.sh verifies the result on the built programs.
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
include(CheckPIESupported)
check_pie_supported()
target_compile_options(es_options INTERFACE -fstack-protector-strong)
target_link_options(es_options INTERFACE -Wl,-z,relro,-z,now)
if(NOT ES_SANITIZE AND NOT ES_FUZZ)
  target_compile_definitions(es_options INTERFACE
    $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
endif()
