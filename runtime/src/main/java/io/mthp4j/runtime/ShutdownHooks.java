package io.mthp4j.runtime;

/** Where a registration puts its shutdown hook: the JVM's, or a test's recorder. */
interface ShutdownHooks {

    void add(Thread hook);

    /** Removes it; false if the JVM is already shutting down. */
    boolean remove(Thread hook);

    /** The JVM's shutdown hooks. */
    ShutdownHooks JVM = new ShutdownHooks() {
        @Override
        public void add(Thread hook) {
            Runtime.getRuntime().addShutdownHook(hook);
        }

        @Override
        public boolean remove(Thread hook) {
            try {
                return Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                return false;
            }
        }
    };
}
