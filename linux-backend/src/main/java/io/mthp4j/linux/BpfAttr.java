package io.mthp4j.linux;

import com.sun.jna.Memory;

/**
 * {@code union bpf_attr}, one layout per command (linux-interfaces.md §2.2), written into a zeroed
 * {@link Memory} at fixed offsets: no reflection, no allocation per call. Pointer slots are u64 on every
 * architecture (§3.5). The buffer is cleared before every call (§2.1: a stray byte gives EINVAL or E2BIG).
 */
final class BpfAttr {

    private BpfAttr() {
    }

    // commands (§2.1)
    static final int MAP_CREATE = 0;
    static final int MAP_LOOKUP_ELEM = 1;
    static final int MAP_UPDATE_ELEM = 2;
    static final int MAP_DELETE_ELEM = 3;
    static final int MAP_GET_NEXT_KEY = 4;
    static final int OBJ_PIN = 6;
    static final int OBJ_GET = 7;
    static final int OBJ_GET_INFO_BY_FD = 15;
    static final int MAP_LOOKUP_BATCH = 24;
    static final int MAP_UPDATE_BATCH = 26;
    static final int MAP_DELETE_BATCH = 27;

    /** The largest layout used here, rounded up; every call passes its own command's size. */
    static final int BUFFER = 128;

    /** MAP_CREATE; passed up to {@code map_extra} (72 bytes, inside the 6.1 and 6.18 unions). */
    static final class Create {
        static final int MAP_TYPE = 0;
        static final int KEY_SIZE = 4;
        static final int VALUE_SIZE = 8;
        static final int MAX_ENTRIES = 12;
        static final int MAP_FLAGS = 16;
        static final int MAP_NAME = 28;
        static final int SIZE = 72;

        private Create() {
        }
    }

    /** LOOKUP / UPDATE / DELETE / GET_NEXT_KEY. */
    static final class Elem {
        static final int MAP_FD = 0;
        static final int KEY = 8;
        static final int VALUE = 16;
        static final int NEXT_KEY = 16;
        static final int FLAGS = 24;
        static final int SIZE = 32;

        private Elem() {
        }
    }

    /** OBJ_PIN / OBJ_GET. */
    static final class Obj {
        static final int PATHNAME = 0;
        static final int BPF_FD = 8;
        static final int FILE_FLAGS = 12;
        static final int SIZE = 16;

        private Obj() {
        }
    }

    /** OBJ_GET_INFO_BY_FD; {@code info_len} is in/out. */
    static final class Info {
        static final int BPF_FD = 0;
        static final int INFO_LEN = 4;
        static final int INFO = 8;
        static final int SIZE = 16;

        private Info() {
        }
    }

    /** The batch commands; {@code count} is in/out. */
    static final class Batch {
        static final int IN_BATCH = 0;
        static final int OUT_BATCH = 8;
        static final int KEYS = 16;
        static final int VALUES = 24;
        static final int COUNT = 32;
        static final int MAP_FD = 36;
        static final int ELEM_FLAGS = 40;
        static final int FLAGS = 48;
        static final int SIZE = 56;

        private Batch() {
        }
    }

    /** {@code struct bpf_map_info} as far as mthp4j reads it (88 bytes = the 6.1 size; the kernel writes back min(len, its size)). */
    static final class MapInfoLayout {
        static final int TYPE = 0;
        static final int ID = 4;
        static final int KEY_SIZE = 8;
        static final int VALUE_SIZE = 12;
        static final int MAX_ENTRIES = 16;
        static final int MAP_FLAGS = 20;
        static final int NAME = 24;
        static final int SIZE = 88;

        private MapInfoLayout() {
        }
    }

    /** The command's name, for messages. */
    static String name(int cmd) {
        return switch (cmd) {
            case MAP_CREATE -> "BPF_MAP_CREATE";
            case MAP_LOOKUP_ELEM -> "BPF_MAP_LOOKUP_ELEM";
            case MAP_UPDATE_ELEM -> "BPF_MAP_UPDATE_ELEM";
            case MAP_DELETE_ELEM -> "BPF_MAP_DELETE_ELEM";
            case MAP_GET_NEXT_KEY -> "BPF_MAP_GET_NEXT_KEY";
            case OBJ_PIN -> "BPF_OBJ_PIN";
            case OBJ_GET -> "BPF_OBJ_GET";
            case OBJ_GET_INFO_BY_FD -> "BPF_OBJ_GET_INFO_BY_FD";
            case MAP_LOOKUP_BATCH -> "BPF_MAP_LOOKUP_BATCH";
            case MAP_UPDATE_BATCH -> "BPF_MAP_UPDATE_BATCH";
            case MAP_DELETE_BATCH -> "BPF_MAP_DELETE_BATCH";
            default -> "bpf command " + cmd;
        };
    }
}
