package io.mthp4j.linux;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of the test classes that pin maps: one {@link BpffsFixture} per class, removed (and unmounted) after it. */
abstract class BpffsTest {

    static BpffsFixture bpffs;

    @BeforeAll
    static void mountBpffs() {
        bpffs = new BpffsFixture();
    }

    @AfterAll
    static void unmountBpffs() {
        if (bpffs != null) {
            bpffs.close();
            bpffs = null;
        }
    }
}
