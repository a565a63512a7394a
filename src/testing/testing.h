/* testing.h - the test build's hooks (CMake DISTCP_TESTING): compiled into
 * the binary only then, never into the product. */
#ifndef DISTCP_TESTING_H
#define DISTCP_TESTING_H

/* Read the DISTCP_TEST_* environment and point engine_testhooks
 * (engine/testpoint.h) at the hooks it asks for. Called once by main()
 * before anything runs. */
void testing_init(void);

#endif
