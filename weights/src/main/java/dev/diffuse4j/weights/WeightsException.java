package dev.diffuse4j.weights;

/** A checkpoint could not be read or does not fit the model; the message names file, key and rule. */
public class WeightsException extends RuntimeException {
    public WeightsException(String message) { super(message); }

    public WeightsException(String message, Throwable cause) { super(message, cause); }
}
