package io.mthp4j.linux;

import java.util.Locale;

/**
 * The architectures mthp4j knows the system call numbers of (linux-interfaces.md §2.3, §3.1). Anything else
 * is refused: a wrong number would call some other system call.
 */
enum Arch {
    /** x86-64 ({@code os.arch} amd64 or x86_64). */
    X86_64(321, 157, 28),
    /** arm64, asm-generic numbers ({@code os.arch} aarch64). */
    AARCH64(280, 167, 233);

    /** {@code __NR_bpf}: bpf(2) has no glibc wrapper and goes through syscall(2). */
    final long nrBpf;
    /** {@code __NR_prctl} (prctl itself is called through its glibc wrapper). */
    final long nrPrctl;
    /** {@code __NR_madvise} (likewise). */
    final long nrMadvise;

    Arch(long nrBpf, long nrPrctl, long nrMadvise) {
        this.nrBpf = nrBpf;
        this.nrPrctl = nrPrctl;
        this.nrMadvise = nrMadvise;
    }

    /** The architecture named by {@code os.arch}. */
    static Arch of(String osArch) {
        String a = osArch == null ? "" : osArch.toLowerCase(Locale.ROOT);
        return switch (a) {
            case "amd64", "x86_64" -> X86_64;
            case "aarch64", "arm64" -> AARCH64;
            default -> throw new UnsupportedOperationException("mthp4j's Linux backend knows the system call numbers of x86-64"
                    + " and aarch64 only; os.arch is \"" + osArch + "\". Use the fake kernel on this machine, or add this"
                    + " architecture's numbers to " + Arch.class.getName());
        };
    }

    /** The architecture of this JVM; refuses unknown ones with a clear message. */
    static Arch current() {
        return of(System.getProperty("os.arch"));
    }
}
