package dev.diffuse4j.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.List;

/** A shared library bound with java.lang.foreign, found as the first loadable of several candidate names or paths. */
record NativeLibrary(SymbolLookup lookup, String name) {
    /** The first candidate the loader can open (each is added to {@code tried}), or null when none is. */
    static NativeLibrary first(List<String> candidates, List<String> tried) {
        for (String candidate : candidates) {
            tried.add(candidate);
            try {
                return new NativeLibrary(SymbolLookup.libraryLookup(candidate, Arena.global()), candidate);
            } catch (IllegalArgumentException e) {
                // not there: try the next
            }
        }
        return null;
    }
}
