// The translation unit that builds tests/testing/test_pch.h's precompiled
// header (tests/CMakeLists.txt, onestop_test_pch); it defines nothing.
