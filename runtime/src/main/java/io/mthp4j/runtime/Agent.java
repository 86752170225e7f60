package io.mthp4j.runtime;

import java.lang.instrument.Instrumentation;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Java agent, for a service the operator did not write:
 * {@code java -javaagent:mthp4j-runtime.jar=mthp-ext:threshold=100ms -jar service.jar}, or without an argument
 * the policy named by {@code -Dmthp4j.policy} / {@code MTHP4J_POLICY} ({@link PolicySpec}). The registration
 * lives until the JVM exits; its shutdown hook restores the process. The jars mthp4j-runtime needs (core,
 * linux-backend, api, JNA, SLF4J, Caffeine) must sit next to it (its manifest's Class-Path).
 *
 * <p>A bad value is one clear error line and the service starts without a policy: THP is an optimisation, and a
 * typo in it should not take a service down.
 */
public final class Agent {

    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);
    private static volatile Registration registration;

    private Agent() {
    }

    public static void premain(String args, Instrumentation inst) {
        start(args);
    }

    public static void agentmain(String args, Instrumentation inst) {
        start(args);
    }

    /** Registers what {@code args} or the configuration names; returns what it did, for tests and logs. */
    static synchronized String start(String args) {
        try {
            Optional<PolicySpec> spec = args != null && !args.isBlank() ? Optional.of(PolicySpec.parse(args)) : PolicySpec.configured();
            if (spec.isEmpty()) {
                LOG.warn("mthp4j agent: no policy named (agent argument, -D{} or {}); doing nothing", PolicySpec.PROPERTY, PolicySpec.ENV);
                return "nothing";
            }
            if (spec.get().isOptOut()) {
                // Through Mthp, so the original mode is recorded (Mthp.restore()) and a registration is respected.
                if (spec.get().optOut().mode() == io.mthp4j.api.ProcessThpMode.DISABLED) {
                    Mthp.disable();
                } else {
                    Mthp.disableExceptAdvised();
                }
                LOG.info("mthp4j agent: prctl mode set: {}", spec.get().name());
                return spec.get().name();
            }
            if (registration != null) {
                return "already registered";
            }
            registration = Mthp.builder(spec.get()).register();
            return spec.get().toString();
        } catch (RuntimeException e) {
            String line = "mthp4j agent: not started, the service runs without a THP policy: " + e.getMessage();
            if (LoggerFactory.getILoggerFactory() instanceof org.slf4j.helpers.NOPLoggerFactory) {
                System.err.println("ERROR " + line); // no SLF4J binding in the service: the error must still be seen
            } else {
                LOG.error(line);
            }
            return "error: " + e.getMessage();
        }
    }

    /** The agent's registration, or null. */
    static Registration registration() {
        return registration;
    }
}
