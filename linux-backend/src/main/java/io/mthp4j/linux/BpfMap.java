package io.mthp4j.linux;

import com.sun.jna.Memory;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One BPF map, by file descriptor (linux-interfaces.md §2): create, pin, open pinned, element and batch
 * operations, info. The kernel does not check key or value lengths (§2.4, "missing key-length check"): every
 * method here does. Single-element operations reuse this handle's native buffers (allocation-free, guarded
 * by the handle's lock). Closing releases the descriptor; the map lives on while it is pinned.
 */
final class BpfMap implements AutoCloseable {

    /** Map types used here (§2.3). */
    enum Type {
        HASH(1), ARRAY(2);

        final int code;

        Type(int code) {
            this.code = code;
        }

        static String name(int code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t.name();
                }
            }
            return "type " + code;
        }
    }

    /** How a pinned map is opened ({@code file_flags} of BPF_OBJ_GET). */
    enum Access {
        READ_WRITE(0), READ_ONLY(8);

        final int fileFlags;

        Access(int fileFlags) {
            this.fileFlags = fileFlags;
        }
    }

    // update flags (§2.3)
    static final long BPF_ANY = 0;
    static final long BPF_NOEXIST = 1;
    static final long BPF_EXIST = 2;

    static final int OBJ_NAME_LEN = 16;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.]{0,15}");

    /** What {@code BPF_OBJ_GET_INFO_BY_FD} says about a map. */
    record Info(int type, int id, int keySize, int valueSize, int maxEntries, int mapFlags, String name) {
        String typeName() {
            return Type.name(type);
        }
    }

    private final Arch arch;
    private final String label;
    private final Info info;
    private final Access access;
    private final Memory attr = new Memory(BpfAttr.BUFFER);
    private final Memory key;
    private final Memory value;
    private final Memory nextKey;
    private int fd;

    private BpfMap(Arch arch, int fd, String label, Access access) {
        this.arch = arch;
        this.fd = fd;
        this.access = access;
        this.info = queryInfo(arch, fd, label, attr);
        this.label = label + " (map \"" + info.name() + "\", " + info.typeName() + ")";
        this.key = new Memory(Math.max(8, info.keySize()));
        this.value = new Memory(Math.max(8, info.valueSize()));
        this.nextKey = new Memory(Math.max(8, info.keySize()));
    }

    // ---- creating and opening ----

    /**
     * {@code BPF_MAP_CREATE}. The name is checked as the kernel does (at most 15 of {@code [A-Za-z0-9_.]}) so a
     * bad one fails with a message rather than a bare EINVAL.
     */
    static BpfMap create(Type type, String name, int keySize, int valueSize, int maxEntries, int mapFlags) {
        Sys.requireAvailable();
        Objects.requireNonNull(type, "type");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("BPF map name \"" + name + "\": at most 15 characters of [A-Za-z0-9_.]");
        }
        if (keySize <= 0 || valueSize <= 0 || maxEntries <= 0) {
            throw new IllegalArgumentException("key size, value size and max entries must be positive, were "
                    + keySize + ", " + valueSize + ", " + maxEntries);
        }
        if (type == Type.ARRAY && keySize != 4) {
            throw new IllegalArgumentException("an ARRAY map has 4-byte keys, not " + keySize);
        }
        Arch arch = Arch.current();
        int fd;
        try (Memory a = new Memory(BpfAttr.BUFFER)) {
            a.clear();
            a.setInt(BpfAttr.Create.MAP_TYPE, type.code);
            a.setInt(BpfAttr.Create.KEY_SIZE, keySize);
            a.setInt(BpfAttr.Create.VALUE_SIZE, valueSize);
            a.setInt(BpfAttr.Create.MAX_ENTRIES, maxEntries);
            a.setInt(BpfAttr.Create.MAP_FLAGS, mapFlags);
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            a.write(BpfAttr.Create.MAP_NAME, n, 0, n.length);
            long r = Libc.syscall(arch.nrBpf, BpfAttr.MAP_CREATE, Sys.address(a), BpfAttr.Create.SIZE);
            if (r < 0) {
                int e = Sys.errno();
                throw Sys.failure("BPF_MAP_CREATE", "map \"" + name + "\" (" + type + ", key " + keySize + " B, value "
                        + valueSize + " B, " + maxEntries + " entries)", e, createHint(e));
            }
            fd = (int) r;
        }
        return adopt(arch, fd, "new map", Access.READ_WRITE);
    }

    /** {@code BPF_OBJ_GET} of a pin. */
    static BpfMap openPinned(Path pin, Access access) {
        Sys.requireAvailable();
        Arch arch = Arch.current();
        String path = pin.toAbsolutePath().toString();
        int fd;
        try (Memory a = new Memory(BpfAttr.BUFFER); Memory p = cString(path)) {
            a.clear();
            a.setLong(BpfAttr.Obj.PATHNAME, Sys.address(p));
            a.setInt(BpfAttr.Obj.FILE_FLAGS, access.fileFlags);
            long r = Libc.syscall(arch.nrBpf, BpfAttr.OBJ_GET, Sys.address(a), BpfAttr.Obj.SIZE);
            if (r < 0) {
                int e = Sys.errno();
                throw Sys.failure("BPF_OBJ_GET", path, e, objGetHint(e, pin));
            }
            fd = (int) r;
        }
        return adopt(arch, fd, path, access);
    }

    /** Wraps a fresh descriptor; closes it if reading its info fails, so nothing leaks. */
    private static BpfMap adopt(Arch arch, int fd, String label, Access access) {
        try {
            return new BpfMap(arch, fd, label, access);
        } catch (RuntimeException | Error e) {
            Libc.close(fd);
            throw e;
        }
    }

    /**
     * {@code BPF_OBJ_PIN} at {@code pin}, creating missing parent directories (mode 0700) inside bpffs first.
     * The pin itself gets mode 0600 from the kernel (§2.5).
     *
     * @throws KernelException EEXIST if the path exists, EPERM if it is not in a bpffs mount
     */
    synchronized void pin(Path pin) {
        String path = pin.toAbsolutePath().toString();
        Path bpffs = Bpffs.mountCovering(pin);
        if (bpffs != null) {
            createDirectories(pin.toAbsolutePath().getParent(), bpffs);
        }
        try (Memory p = cString(path)) {
            attr.clear();
            attr.setLong(BpfAttr.Obj.PATHNAME, Sys.address(p));
            attr.setInt(BpfAttr.Obj.BPF_FD, fd());
            long r = Libc.syscall(arch.nrBpf, BpfAttr.OBJ_PIN, Sys.address(attr), BpfAttr.Obj.SIZE);
            if (r < 0) {
                int e = Sys.errno();
                throw Sys.failure("BPF_OBJ_PIN", path, e, pinHint(e, bpffs));
            }
        }
    }

    private static void createDirectories(Path dir, Path bpffs) {
        if (dir == null || dir.equals(bpffs) || Files.isDirectory(dir)) {
            return;
        }
        createDirectories(dir.getParent(), bpffs);
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (java.nio.file.FileAlreadyExistsException raced) {
            // another process made it: fine
        } catch (IOException e) {
            throw new KernelException("mkdir", dir.toString(), Errno.EIO.value(), "could not create the pin directory in bpffs: " + e, e);
        }
    }

    // ---- info ----

    Info info() {
        return info;
    }

    /** What the map is, for messages: its pin or origin, name and type. */
    String label() {
        return label;
    }

    private static Info queryInfo(Arch arch, int fd, String label, Memory attr) {
        try (Memory buf = new Memory(BpfAttr.MapInfoLayout.SIZE)) {
            buf.clear();
            attr.clear();
            attr.setInt(BpfAttr.Info.BPF_FD, fd);
            attr.setInt(BpfAttr.Info.INFO_LEN, BpfAttr.MapInfoLayout.SIZE);
            attr.setLong(BpfAttr.Info.INFO, Sys.address(buf));
            long r = Libc.syscall(arch.nrBpf, BpfAttr.OBJ_GET_INFO_BY_FD, Sys.address(attr), BpfAttr.Info.SIZE);
            if (r < 0) {
                int e = Sys.errno();
                throw Sys.failure("BPF_OBJ_GET_INFO_BY_FD", label + " (fd " + fd + ")", e,
                        Sys.is(e, Errno.EINVAL) ? "the descriptor is not a BPF map" : null);
            }
            // info_len comes back as min(ours, the kernel's): 88 here on every kernel since 6.1 (§2.4, §3.10)
            byte[] name = buf.getByteArray(BpfAttr.MapInfoLayout.NAME, OBJ_NAME_LEN);
            int len = 0;
            while (len < name.length && name[len] != 0) {
                len++;
            }
            return new Info(buf.getInt(BpfAttr.MapInfoLayout.TYPE), buf.getInt(BpfAttr.MapInfoLayout.ID),
                    buf.getInt(BpfAttr.MapInfoLayout.KEY_SIZE), buf.getInt(BpfAttr.MapInfoLayout.VALUE_SIZE),
                    buf.getInt(BpfAttr.MapInfoLayout.MAX_ENTRIES), buf.getInt(BpfAttr.MapInfoLayout.MAP_FLAGS),
                    new String(name, 0, len, StandardCharsets.US_ASCII));
        }
    }

    // ---- single elements (byte[] API; checks lengths) ----

    /** {@code BPF_MAP_UPDATE_ELEM}; E2BIG = the map is full (§2.4). */
    synchronized void update(byte[] k, byte[] v, long flags) {
        fd(); // closed handles fail before touching their freed buffers
        checkKey(k);
        checkValue(v);
        key.write(0, k, 0, k.length);
        value.write(0, v, 0, v.length);
        int e = updateFromBuffers(flags);
        if (e != 0) {
            throw elemFailure(BpfAttr.MAP_UPDATE_ELEM, e, k);
        }
    }

    /** {@code BPF_MAP_LOOKUP_ELEM} into {@code out}; false if the key is absent. */
    synchronized boolean lookup(byte[] k, byte[] out) {
        fd(); // closed handles fail before touching their freed buffers
        checkKey(k);
        checkValue(out);
        key.write(0, k, 0, k.length);
        int e = elem(BpfAttr.MAP_LOOKUP_ELEM, Sys.address(key), Sys.address(value), 0);
        if (e == Errno.ENOENT.value()) {
            return false;
        }
        if (e != 0) {
            throw elemFailure(BpfAttr.MAP_LOOKUP_ELEM, e, k);
        }
        value.read(0, out, 0, out.length);
        return true;
    }

    /** {@code BPF_MAP_DELETE_ELEM}; false if the key was absent. */
    synchronized boolean delete(byte[] k) {
        fd(); // closed handles fail before touching their freed buffers
        checkKey(k);
        key.write(0, k, 0, k.length);
        int e = elem(BpfAttr.MAP_DELETE_ELEM, Sys.address(key), 0, 0);
        if (e == Errno.ENOENT.value()) {
            return false;
        }
        if (e != 0) {
            throw elemFailure(BpfAttr.MAP_DELETE_ELEM, e, k);
        }
        return true;
    }

    /**
     * {@code BPF_MAP_GET_NEXT_KEY}: the key after {@code k} ({@code null}: the first) into {@code out}; false at
     * the end. A key not in the map yields the first key again (§2.4).
     */
    synchronized boolean nextKey(byte[] k, byte[] out) {
        fd(); // closed handles fail before touching their freed buffers
        checkKey(out);
        long keyAddr = 0;
        if (k != null) {
            checkKey(k);
            key.write(0, k, 0, k.length);
            keyAddr = Sys.address(key);
        }
        int e = elem(BpfAttr.MAP_GET_NEXT_KEY, keyAddr, Sys.address(nextKey), 0);
        if (e == Errno.ENOENT.value()) {
            return false;
        }
        if (e != 0) {
            throw elemFailure(BpfAttr.MAP_GET_NEXT_KEY, e, k);
        }
        nextKey.read(0, out, 0, out.length);
        return true;
    }

    // ---- single elements (native buffers; for callers that encode in place) ----

    /** This handle's key buffer ({@code key_size} bytes used). Use only while holding this handle's lock. */
    Memory keyBuffer() {
        fd();
        return key;
    }

    /** This handle's value buffer ({@code value_size} bytes used). Use only while holding this handle's lock. */
    Memory valueBuffer() {
        fd();
        return value;
    }

    /** UPDATE from the handle's buffers; returns 0 or the errno. Caller holds the lock. */
    int updateFromBuffers(long flags) {
        return elem(BpfAttr.MAP_UPDATE_ELEM, Sys.address(key), Sys.address(value), flags);
    }

    /** DELETE of the key buffer; returns 0 or the errno. Caller holds the lock. */
    int deleteFromBuffers() {
        return elem(BpfAttr.MAP_DELETE_ELEM, Sys.address(key), 0, 0);
    }

    private int elem(int cmd, long keyAddr, long valueAddr, long flags) {
        attr.clear(BpfAttr.Elem.SIZE);
        attr.setInt(BpfAttr.Elem.MAP_FD, fd());
        attr.setLong(BpfAttr.Elem.KEY, keyAddr);
        attr.setLong(BpfAttr.Elem.VALUE, valueAddr);
        attr.setLong(BpfAttr.Elem.FLAGS, flags);
        long r = Libc.syscall(arch.nrBpf, cmd, Sys.address(attr), BpfAttr.Elem.SIZE);
        return r < 0 ? Sys.errno() : 0;
    }

    KernelException elemFailure(int cmd, int errno, byte[] k) {
        return Sys.failure(BpfAttr.name(cmd), label + (k == null ? "" : " key " + hex(k)), errno, elemHint(cmd, errno));
    }

    // ---- batches (§2.4 "Batch semantics to implement") ----

    /**
     * {@code BPF_MAP_UPDATE_BATCH} of {@code count} keys and values laid end to end.
     *
     * @throws BpfBatchException E2BIG when the map filled up, with how many were applied
     */
    int updateBatch(byte[] keys, byte[] values, int count, long elemFlags) {
        fd(); // closed handles fail before touching their freed buffers
        if (count < 0 || keys.length != count * info.keySize() || values.length != count * info.valueSize()) {
            throw new IllegalArgumentException(count + " elements need " + (count * (long) info.keySize()) + " key bytes and "
                    + (count * (long) info.valueSize()) + " value bytes for " + label + ", got " + keys.length + " and " + values.length);
        }
        if (count == 0) {
            return 0;
        }
        try (Memory a = new Memory(BpfAttr.BUFFER); Memory k = new Memory(keys.length); Memory v = new Memory(values.length)) {
            k.write(0, keys, 0, keys.length);
            v.write(0, values, 0, values.length);
            a.clear();
            a.setLong(BpfAttr.Batch.KEYS, Sys.address(k));
            a.setLong(BpfAttr.Batch.VALUES, Sys.address(v));
            a.setInt(BpfAttr.Batch.COUNT, count);
            a.setInt(BpfAttr.Batch.MAP_FD, fd());
            a.setLong(BpfAttr.Batch.ELEM_FLAGS, elemFlags);
            long r = Libc.syscall(arch.nrBpf, BpfAttr.MAP_UPDATE_BATCH, Sys.address(a), BpfAttr.Batch.SIZE);
            if (r < 0) {
                int e = Sys.errno();
                // E2BIG: count says how many went in; EINVAL: count is untouched, do not trust it
                int done = Sys.is(e, Errno.EINVAL) ? -1 : a.getInt(BpfAttr.Batch.COUNT);
                throw new BpfBatchException("BPF_MAP_UPDATE_BATCH", label, e, batchHint(e), done);
            }
            return a.getInt(BpfAttr.Batch.COUNT);
        }
    }

    /** Receives one key and value of a walk; the arrays are reused between calls. */
    @FunctionalInterface
    interface EntryConsumer {
        void accept(byte[] key, byte[] value);
    }

    /**
     * Every entry, by {@code BPF_MAP_LOOKUP_BATCH} pages of {@code chunk}: consumes each call's entries before
     * looking at its error, ends at ENOENT (which may still carry entries), doubles the page on ENOSPC (a
     * hash bucket larger than the page) and retries from the same token.
     *
     * @return how many entries were delivered
     */
    int forEach(int chunk, EntryConsumer consumer) {
        fd(); // closed handles fail before touching their freed buffers
        if (chunk <= 0) {
            throw new IllegalArgumentException("chunk must be positive, was " + chunk);
        }
        int ks = info.keySize();
        int vs = info.valueSize();
        int tokenSize = Math.max(8, ks); // tokens are opaque; at least key_size bytes [inferred]
        byte[] k = new byte[ks];
        byte[] v = new byte[vs];
        int delivered = 0;
        int page = chunk;
        Memory keys = new Memory((long) page * ks);
        Memory values = new Memory((long) page * vs);
        try (Memory a = new Memory(BpfAttr.BUFFER); Memory in = new Memory(tokenSize); Memory out = new Memory(tokenSize)) {
            boolean first = true;
            while (true) {
                a.clear();
                a.setLong(BpfAttr.Batch.IN_BATCH, first ? 0 : Sys.address(in));
                a.setLong(BpfAttr.Batch.OUT_BATCH, Sys.address(out));
                a.setLong(BpfAttr.Batch.KEYS, Sys.address(keys));
                a.setLong(BpfAttr.Batch.VALUES, Sys.address(values));
                a.setInt(BpfAttr.Batch.COUNT, page);
                a.setInt(BpfAttr.Batch.MAP_FD, fd());
                long r = Libc.syscall(arch.nrBpf, BpfAttr.MAP_LOOKUP_BATCH, Sys.address(a), BpfAttr.Batch.SIZE);
                int e = r < 0 ? Sys.errno() : 0;
                if (e == 0 || Sys.is(e, Errno.ENOENT)) {
                    int n = a.getInt(BpfAttr.Batch.COUNT);
                    for (int i = 0; i < n; i++) {
                        keys.read((long) i * ks, k, 0, ks);
                        values.read((long) i * vs, v, 0, vs);
                        consumer.accept(k, v);
                    }
                    delivered += n;
                    if (e != 0) {
                        return delivered;
                    }
                    in.write(0, out.getByteArray(0, tokenSize), 0, tokenSize);
                    first = false;
                } else if (Sys.is(e, Errno.ENOSPC) && page < Math.max(chunk, info.maxEntries()) * 2) {
                    page *= 2;
                    keys.close();
                    values.close();
                    keys = new Memory((long) page * ks);
                    values = new Memory((long) page * vs);
                } else {
                    throw new BpfBatchException("BPF_MAP_LOOKUP_BATCH", label, e, batchHint(e), delivered);
                }
            }
        } finally {
            keys.close();
            values.close();
        }
    }

    // ---- checks, hints ----

    private void checkKey(byte[] k) {
        if (k.length != info.keySize()) {
            throw new IllegalArgumentException("key of " + k.length + " bytes for " + label + ", whose key_size is "
                    + info.keySize() + " (the kernel would read or write past a shorter buffer)");
        }
    }

    private void checkValue(byte[] v) {
        if (v.length != info.valueSize()) {
            throw new IllegalArgumentException("value of " + v.length + " bytes for " + label + ", whose value_size is "
                    + info.valueSize() + " (the kernel would read or write past a shorter buffer)");
        }
    }

    private static String createHint(int e) {
        if (Sys.is(e, Errno.EPERM)) {
            return "creating BPF maps needs CAP_BPF (or root); kernel.unprivileged_bpf_disabled forbids it otherwise";
        }
        if (Sys.is(e, Errno.EINVAL)) {
            return "the kernel refused the parameters (sizes, flags or name)";
        }
        return null;
    }

    private static String objGetHint(int e, Path pin) {
        if (Sys.is(e, Errno.ENOENT)) {
            return Bpffs.mountCovering(pin) == null
                    ? "no bpffs is mounted there; mount it with: mount -t bpf bpf /sys/fs/bpf"
                    : "nothing is pinned there; create the map first";
        }
        if (Sys.is(e, Errno.EACCES)) {
            return "not a pinned BPF object (a directory or a file outside bpffs), or the pin is mode 0600 and owned by another user";
        }
        if (Sys.is(e, Errno.EPERM)) {
            return "opening pinned BPF objects needs CAP_BPF (or root)";
        }
        return null;
    }

    private static String pinHint(int e, Path bpffs) {
        if (Sys.is(e, Errno.EEXIST)) {
            return "something is already pinned at that path; open it or unlink it first";
        }
        if (Sys.is(e, Errno.EPERM)) {
            return bpffs == null ? "the path is not inside a bpffs mount; mount one with: mount -t bpf bpf /sys/fs/bpf"
                    : "pinning needs CAP_BPF (or root)";
        }
        if (Sys.is(e, Errno.ENOENT)) {
            return "the directory does not exist" + (bpffs == null ? " (and no bpffs is mounted above it)" : "");
        }
        return null;
    }

    private String elemHint(int cmd, int e) {
        if (Sys.is(e, Errno.E2BIG) && cmd == BpfAttr.MAP_UPDATE_ELEM) {
            return info.type() == Type.ARRAY.code ? "index beyond max_entries " + info.maxEntries()
                    : "map full (" + info.maxEntries() + " entries); delete entries or create a larger map";
        }
        if (Sys.is(e, Errno.EEXIST)) {
            return "the key exists and BPF_NOEXIST was given";
        }
        if (Sys.is(e, Errno.ENOENT) && cmd == BpfAttr.MAP_UPDATE_ELEM) {
            return "the key is absent and BPF_EXIST was given";
        }
        if (Sys.is(e, Errno.EPERM)) {
            return access == Access.READ_ONLY ? "the map was opened read-only" : "the map or its descriptor does not allow writes (opened read-only?)";
        }
        if (Sys.is(e, Errno.EINVAL)) {
            return "bad flags for this map type (e.g. BPF_F_LOCK without a spin lock, or delete on an ARRAY)";
        }
        return null;
    }

    private String batchHint(int e) {
        if (Sys.is(e, Errno.E2BIG)) {
            return "map full (" + info.maxEntries() + " entries)";
        }
        if (Sys.is(e, Errno.EINVAL)) {
            return "bad flags (elem_flags allows only BPF_F_LOCK)";
        }
        if (Sys.is(e, Errno.EPERM)) {
            return "the map does not allow writes (opened read-only?)";
        }
        return "batch command failed";
    }

    static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder("0x");
        for (int i = bytes.length - 1; i >= 0; i--) { // little-endian: most significant byte last
            out.append(String.format("%02x", bytes[i] & 0xff));
        }
        return out.toString();
    }

    private static Memory cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        Memory m = new Memory(b.length + 1L);
        m.write(0, b, 0, b.length);
        m.setByte(b.length, (byte) 0);
        return m;
    }

    private int fd() {
        if (fd < 0) {
            throw new IllegalStateException(label + " is closed");
        }
        return fd;
    }

    boolean isOpen() {
        return fd >= 0;
    }

    @Override
    public synchronized void close() {
        if (fd >= 0) {
            Libc.close(fd);
            fd = -1;
            attr.close();
            key.close();
            value.close();
            nextKey.close();
        }
    }

    @Override
    public String toString() {
        return label + (fd >= 0 ? " fd " + fd : " closed");
    }
}
